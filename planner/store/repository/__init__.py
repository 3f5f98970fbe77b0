"""Every SELECT, INSERT and UPDATE of the application, one module per table
family. Functions take the transaction's :class:`~sqlalchemy.orm.Session`;
the application decides where a transaction begins and ends.
"""
